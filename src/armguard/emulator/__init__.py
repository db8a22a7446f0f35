"""The local Azure Resource Manager emulator."""
