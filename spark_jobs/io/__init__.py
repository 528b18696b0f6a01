"""Spark I/O against the lake's object store without Hadoop S3A jars (see s3_arrow_source)."""
