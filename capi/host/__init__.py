"""The simulated Windows host, below the key providers: the machine and its state
(``machine``, ``paths``, ``provisioning``), the current machine and identity
(``context``), accounts, SIDs and tokens (``accounts``), security descriptors and
AccessCheck (``security``), DPAPI (``dpapi``) and the OS-version table (``osversions``).

Nothing here imports the facade or the providers.
"""
