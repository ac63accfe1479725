"""The one way a pending ``callLater`` is called off."""


def cancel(call):
    """Cancel ``call`` (an IDelayedCall, or None) if it has not run yet, and
    return None, so that ``self._timer = cancel(self._timer)`` forgets it."""
    if call is not None and call.active():
        call.cancel()
    return None
