"""PostgreSQL extensions the product relies on, created before any table.

vector: pgvector, for knowledge-base embeddings.
btree_gist: exclusion constraints that stop double booking of a bay.
pg_trgm: trigram similarity for fuzzy name and FAQ matching.
"""

from django.contrib.postgres.operations import BtreeGistExtension, TrigramExtension
from django.db import migrations
from pgvector.django import VectorExtension


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [VectorExtension(), BtreeGistExtension(), TrigramExtension()]
