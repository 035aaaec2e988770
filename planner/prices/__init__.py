"""Price tables: the schema, model-name matching, the table files, the price book, sync."""
