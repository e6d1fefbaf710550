"""Local stand-ins for AWS (moto in server mode) and JOOR (our auth server), over real HTTP."""
