"""Knowledge: collections, documents and their versions, chunks, ingestion jobs, vector indexes."""
