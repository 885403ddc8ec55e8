"""The searchable corpus: embeddings, the Chroma store, the BM25 index beside it, and ingest."""
