-- source: AWS, Amazon Redshift Database Developer Guide, "Preparing your input data"
--   (https://docs.aws.amazon.com/redshift/latest/dg/t_preparing-input-data.html): "Do not
--   include any special characters or syntax to indicate the last field in a record. This
--   field can be a delimiter." A delimiter at the end of a line starts one more (empty)
--   field: "Input data had more columns than were defined in the DDL" (error 1202, "Load
--   error reference", r_Load_Error_Reference.html). With MAXERROR those lines are skipped;
--   without it the COPY fails and loads nothing.
-- fails: 19 Extra column(s) found
-- data: gen.py copy/category_trailing_pipe.txt
create table category (catid smallint, catgroup varchar(10), catname varchar(10), catdesc varchar(50));
create table category_strict (like category);

copy category from 's3://lode-conformance/copy/category_trailing_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|' maxerror 10;

insert into category_strict values (1, 'Sports', 'MLB', 'Major League Baseball');

copy category_strict from 's3://lode-conformance/copy/category_trailing_pipe.txt'
iam_role 'arn:aws:iam::123456789012:role/MyRedshiftRole'
delimiter '|';
