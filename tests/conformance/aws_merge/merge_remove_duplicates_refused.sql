-- source: AWS, Amazon Redshift Database Developer Guide, "MERGE" examples
--   (https://docs.aws.amazon.com/redshift/latest/dg/r_MERGE.html): the simplified form
--   MERGE … REMOVE DUPLICATES. Not emulated: fails at the MERGE naming the feature.
-- refuse: 10 MERGE … REMOVE DUPLICATES
CREATE TABLE target (id INT, name CHAR(10));
CREATE TABLE source (id INT, name CHAR(10));
INSERT INTO target VALUES (101, 'Bob'), (102, 'John'), (103, 'Susan');
INSERT INTO source VALUES (102, 'Charlie'), (103, 'David'), (104, 'Eve');

MERGE INTO target USING source ON target.id = source.id REMOVE DUPLICATES;
DELETE FROM target;
