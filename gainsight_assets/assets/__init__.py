"""One module per Gainsight object: its spec (``SPEC``) and the pure functions that shape its pages."""
