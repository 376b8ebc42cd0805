-- source: AWS, Amazon Redshift Database Developer Guide, CREATE EXTERNAL SCHEMA "Examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_EXTERNAL_SCHEMA.html): the schema over the
--   data catalog database sampledb in us-west-2 (kept, with its options, in SVV_EXTERNAL_SCHEMAS), then the
--   page's Hive metastore example. lode's external schemas are DATA CATALOG ones: FROM HIVE METASTORE (and
--   the federated, streaming and datashare sources) fails at its line, naming it; the schema before it stays.
-- refuse: 13 CREATE EXTERNAL SCHEMA … FROM HIVE METASTORE
create external schema spectrum_schema
from data catalog
database 'sampledb'
region 'us-west-2'
iam_role 'arn:aws:iam::123456789012:role/MySpectrumRole';

create external schema hive_schema
from hive metastore
database 'hive_db'
uri '172.10.10.10' port 99
iam_role 'arn:aws:iam::123456789012:role/MySpectrumRole';
