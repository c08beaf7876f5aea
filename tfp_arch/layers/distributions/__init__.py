"""Distribution outputs: layers whose output is a TFP distribution (or its parameters)."""
