"""Plain-Python core: models, ports, errors and the refresh decision. No AWS, no HTTP."""
