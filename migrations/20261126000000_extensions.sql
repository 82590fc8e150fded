-- pgvector backs semantic workflow search (embeddings stored beside each workflow version).
CREATE EXTENSION IF NOT EXISTS vector;
