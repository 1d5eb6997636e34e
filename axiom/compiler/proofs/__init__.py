"""Sound reasoning over whole input regions: input domains, interval bounds per op, properties,
and the VNN-LIB reader (issue 6)."""
