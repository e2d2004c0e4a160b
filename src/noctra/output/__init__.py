"""What statements return and how it is shown or written: one serialization for every engine."""
