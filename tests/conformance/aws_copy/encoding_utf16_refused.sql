-- source: AWS, Amazon Redshift Database Developer Guide, "Data format parameters" (ENCODING)
--   (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html):
--   ENCODING UTF16LE. Not emulated: fails at the COPY; the table keeps what came before.
-- refuse: 8 ENCODING UTF16LE
create table category (catid smallint, catgroup varchar(10), catname varchar(10), catdesc varchar(50));
insert into category values (1, 'Sports', 'MLB', 'Major League Baseball');

copy category from 's3://lode-conformance/tickit/category_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' encoding utf16le;
