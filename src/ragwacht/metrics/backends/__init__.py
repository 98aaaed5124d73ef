"""ragas and deepeval as metric backends (``ragas:faithfulness``, ``deepeval:faithfulness``...).

The libraries are imported only when a backend metric scores its first case, with telemetry
switched off before the import. They use the suite's LLM judge endpoint.
"""
