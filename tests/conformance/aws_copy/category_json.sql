-- source: AWS, Amazon Redshift Database Developer Guide, "COPY examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY_command_examples.html):
--   "Load from JSON data using the 'auto' option", "'auto ignorecase'", "using a JSONPaths
--   file", "Load from JSON arrays using a JSONPaths file".
-- data: gen.py copy/category_*.json
create table category_auto (catid smallint, catgroup varchar(10), catname varchar(10), catdesc varchar(50));
create table category_ignorecase (like category_auto);
create table category_paths (like category_auto);
create table category_array (like category_auto);

copy category_auto
from 's3://lode-conformance/copy/category_object_auto.json'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
json 'auto';

copy category_ignorecase
from 's3://lode-conformance/copy/category_object_auto-ignorecase.json'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
json 'auto ignorecase';

copy category_paths
from 's3://lode-conformance/copy/category_object_paths.json'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
json 's3://lode-conformance/copy/category_jsonpath.json';

copy category_array
from 's3://lode-conformance/copy/category_array_data.json'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
json 's3://lode-conformance/copy/category_array_jsonpath.json';
