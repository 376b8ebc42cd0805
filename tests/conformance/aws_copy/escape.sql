-- source: AWS, Amazon Redshift Database Developer Guide, "COPY examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY_command_examples.html):
--   "Load from a file with embedded delimiters/newlines using the ESCAPE option".
-- data: gen.py copy/redshiftinfo.txt (a backslash before '|', a newline or '\')
create table redshiftinfo(infoid int,tableinfo varchar(50));

copy redshiftinfo from 's3://lode-conformance/copy/redshiftinfo.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' escape;
