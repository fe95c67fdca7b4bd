"""Bulk loaders: each fills one app's tables with generated rows through PostgreSQL ``COPY``;
a data set module (``deal_registration``) runs them in order and times the steps."""
