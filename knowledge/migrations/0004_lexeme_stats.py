"""How many active passages contain each word, for choosing a question's telling words in full-text search.

A materialized view over ts_stat, refreshed after passages change (knowledge.lexeme_stats).
PostgreSQL runs a materialized view's query with a safe search_path (pg_catalog only), so the
query that ts_stat runs names the table with its schema.
"""

from django.db import migrations


def create(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT quote_ident(current_schema())")
        schema = cursor.fetchone()[0]
        inner = f"SELECT search_vector FROM {schema}.knowledge_passage WHERE active"
        cursor.execute(
            "CREATE MATERIALIZED VIEW knowledge_lexeme_stats AS "
            "SELECT s.word, s.ndoc, s.ndoc::float / greatest(1, t.total) AS share "
            f"FROM ts_stat({_literal(inner)}) AS s, "
            "(SELECT count(*) AS total FROM knowledge_passage WHERE active) AS t"
        )
        cursor.execute("CREATE UNIQUE INDEX knowledge_lexeme_stats_word ON knowledge_lexeme_stats (word)")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def drop(apps, schema_editor):
    schema_editor.execute("DROP MATERIALIZED VIEW IF EXISTS knowledge_lexeme_stats")


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0003_staff_groups")]
    operations = [migrations.RunPython(create, drop)]
