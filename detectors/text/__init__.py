"""Shared helpers for detectors that scan decoded text (pan, secret, custom): bounded
windows over large texts, masking and keyed hashing of what is found, and the scoping knobs
(direction, host allow/deny lists, content types) every text detector offers."""
