"""One module per Gainsight object, each a factory of its partitioned asset."""
