-- source: AWS, Amazon Redshift Database Developer Guide, CREATE EXTERNAL SCHEMA "Examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_EXTERNAL_SCHEMA.html): the schema over the
--   data catalog database sampledb in us-west-2 (kept, with its options, in SVV_EXTERNAL_SCHEMAS), the
--   chained-roles example with CATALOG_ROLE (adapted: its own schema name, as the page's examples all use
--   spectrum_schema), then the page's Hive metastore example. lode's external schemas are DATA CATALOG
--   ones: FROM HIVE METASTORE (and the federated, streaming and datashare sources) fails at its line,
--   naming it; the schemas before it stay.
-- refuse: 22 CREATE EXTERNAL SCHEMA … FROM HIVE METASTORE
create external schema spectrum_schema
from data catalog
database 'sampledb'
region 'us-west-2'
iam_role 'arn:aws:iam::123456789012:role/MySpectrumRole';

create external schema spectrum_schema_chained
from data catalog
database 'spectrum_db'
iam_role 'arn:aws:iam::123456789012:role/myRedshiftRole,arn:aws:iam::123456789012:role/myS3Role'
catalog_role 'arn:aws:iam::123456789012:role/myAthenaRole'
create external database if not exists;

create external schema hive_schema
from hive metastore
database 'hive_db'
uri '172.10.10.10' port 99
iam_role 'arn:aws:iam::123456789012:role/MySpectrumRole';
