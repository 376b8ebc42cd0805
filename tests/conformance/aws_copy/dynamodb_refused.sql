-- source: AWS, Amazon Redshift Database Developer Guide, "COPY examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY_command_examples.html):
--   "Load FAVORITEMOVIES from a DynamoDB table". Not emulated: fails at the COPY.
-- refuse: 7 COPY from DYNAMODB
create table favoritemovies (name varchar(100), release_year integer);

copy favoritemovies from 'dynamodb://Movies'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
readratio 50;
