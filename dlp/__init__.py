"""dlp: a network data-loss-prevention appliance for a switch mirror (SPAN) port."""

__version__ = "0.1.0"
