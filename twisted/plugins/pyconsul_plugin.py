from twisted.application.service import ServiceMaker

pyconsul = ServiceMaker("pyconsul", "pyconsul.tap", "A Consul-compatible agent.", "pyconsul")
