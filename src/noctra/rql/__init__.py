"""RQL: pure text -> statements. No engine, no I/O."""
