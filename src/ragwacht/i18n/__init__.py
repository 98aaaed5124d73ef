"""Wording shared by the layers that decide and the layers that report.

:mod:`ragwacht.i18n.gate` turns the gate's structured results (a reason code and facts per
check, findings beside the verdict) into sentences, in English and Dutch. The gate stores the
English sentences in the record; the HTML report words the same results in its own language.
Report-only strings live in :mod:`ragwacht.reports.i18n`.
"""
