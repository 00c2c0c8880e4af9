"""m365emulator: a local HTTPS stand-in for Microsoft's identity platform (v2) and Microsoft Graph.

Run it with `m365emulator serve`, or in process with `m365emulator.testing.EmulatorServer`.
It never imports Django or ShiftDesk.
"""

__version__ = "0.1.0"
