"""Source-code detection support for the `source_code` detector: a rule-based language
classifier (`classifier.classify`) and a winnowed k-gram fingerprint index of the company's
repositories (`fingerprint.build_index`, `FingerprintIndex`)."""

from detectors.code.classifier import Result, classify
from detectors.code.languages import LANGUAGES, NAMES

__all__ = ["LANGUAGES", "NAMES", "Result", "classify"]
