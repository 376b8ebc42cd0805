-- source: AWS, Amazon Redshift Database Developer Guide, "COPY examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY_command_examples.html):
--   "Load CATEGORY from a CSV file", the QUOTE AS '%' variant and IGNOREHEADER.
-- data: gen.py copy/category_csv.txt, category_csv_quote.txt, category_header.csv
create table category(
	catid smallint not null distkey sortkey,
	catgroup varchar(10),
	catname varchar(10),
	catdesc varchar(50));

copy category from 's3://lode-conformance/copy/category_csv.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
csv;

copy category from 's3://lode-conformance/copy/category_csv_quote.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
csv quote as '%';

copy category from 's3://lode-conformance/copy/category_header.csv'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
csv ignoreheader 1;
