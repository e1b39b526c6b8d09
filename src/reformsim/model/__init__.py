"""Model files in, frozen IR out: PySD's translators (the only importer of pysd), the IR,
and the shape pass that resolves subscripted equations."""
