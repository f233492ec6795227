"""DNS: message parsing (message.py); pairing and features arrive with the covert-channel issue."""
