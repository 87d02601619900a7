"""advapi32: the CryptoAPI functions of the Win32 advapi32.dll (session keys, hashes, MACs)."""
