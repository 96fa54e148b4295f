"""Ports: what services need from the outside (storage, queues), as Protocols and the records they
return. Services import domain and ports only (tests/unit/test_layers.py checks it); adapters
implement the ports; `shared/bootstrap.py` wires them."""
