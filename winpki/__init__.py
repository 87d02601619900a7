"""winpki: the command line (``winpki <tool> …``) on top of every layer — the Windows
tools (``winpki.tools``), the doctor, the replayable scenarios and the demo — and the
pytest plugin.
"""
