"""pytest-shakedown: shakedown experiments as pytest items, and a fault-proxy fixture."""
