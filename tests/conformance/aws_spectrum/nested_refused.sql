-- source: AWS, Amazon Redshift Database Developer Guide, "Tutorial: Querying nested data with
--   Amazon Redshift Spectrum", step 1 (https://docs.aws.amazon.com/redshift/latest/dg/tutorial-query-nested-data.html):
--   the CUSTOMERS table with struct and array columns. lode's emulation does not read nested
--   columns: the table is refused at CREATE EXTERNAL TABLE, naming the line and the column type;
--   the schema before it stays.
-- refuse: 13 struct<…>
create external schema spectrum
from data catalog
database 'spectrumdb'
iam_role 'arn:aws:iam::123456789012:role/mySpectrumRole'
create external database if not exists;

CREATE EXTERNAL TABLE spectrum.customers (
  id     int,
  name   struct<given:varchar(20), family:varchar(20)>,
  phones array<varchar(20)>,
  orders array<struct<shipdate:timestamp, price:double precision>>
)
STORED AS PARQUET
LOCATION 's3://lode-conformance/tickit/spectrum/customers/';

SELECT c.id, c.name.given, c.name.family
FROM   spectrum.customers c;
