-- Each workflow version's embedding (of its title, description and labels), written in the
-- same transaction as the row, with the id of the model that made it. Untyped `vector`: the
-- dimension follows the model; search compares only vectors of the query's model. Search is
-- an exact cosine scan over the rows that pass the hard filters, so no index is needed at
-- catalog scale (pgvector 0.6 has no filtered iterative index scan, which would under-return).
ALTER TABLE workflows ADD COLUMN embedding vector, ADD COLUMN embedding_model text;
