-- source: AWS, Amazon Redshift Database Developer Guide, "COPY examples"
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY_command_examples.html):
--   "Load EVENT with options" (REMOVEQUOTES EMPTYASNULL BLANKSASNULL MAXERROR 5 DELIMITER '|'
--   TIMEFORMAT 'YYYY-MM-DD HH:MI:SS'); two rows of the file are bad and skipped.
-- data: gen.py copy/allevents_pipe_quoted.txt
create table event(
	eventid integer not null distkey,
	venueid smallint not null,
	catid smallint not null,
	dateid smallint not null sortkey,
	eventname varchar(200),
	starttime timestamp);

copy event
from 's3://lode-conformance/copy/allevents_pipe_quoted.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
removequotes
emptyasnull
blanksasnull
maxerror 5
delimiter '|'
timeformat 'YYYY-MM-DD HH:MI:SS';
