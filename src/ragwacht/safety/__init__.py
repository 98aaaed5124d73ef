"""Safety probes and offline detectors: PII, prompt injection, system-prompt leakage.

* :mod:`ragwacht.safety.detectors`: validated identifiers (BSN, IBAN, phone, e-mail,
  postcode + house number, licence plate, date of birth) as spans;
* :mod:`ragwacht.safety.synthetic`: synthetic, valid-checksum test identifiers;
* :mod:`ragwacht.safety.probes`: probe golden sets generated from a golden set and its corpus.
"""
