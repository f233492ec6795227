"""Covert-channel analysis shared by the covert detectors: registered domains (Public Suffix
List, offline), DNS query features and the DNS tunnel model."""
