"""Prepared query templates, as Consul 1.10 renders them: the HIL
interpolation language (``hil``), Go's regexp submatches (``submatch``) and
the template itself (``template``). Pure: no I/O, no clock."""
