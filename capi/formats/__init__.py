"""Byte formats, with no machine state: the PKCS#12 codec (``pkcs12``), serialized
stores and PKCS#7 certificate bags (``serialized``), CAPI and CNG key blobs (``blobs``)
and X.500 names (``x500``).
"""
