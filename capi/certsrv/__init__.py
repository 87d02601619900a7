"""Certificate Services: the machine's certification authority (``ca``), a service on
top of the facade, as certsrv is on Windows.
"""
