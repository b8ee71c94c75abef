"""Tables of many runs: the table types, da-compare, results.csv, results.png, da-bench, da-tune."""
