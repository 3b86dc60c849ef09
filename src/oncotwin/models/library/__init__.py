"""Published (and benchmark) models, one module per paper."""
