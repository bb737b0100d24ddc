SELECT
  `w`.`sample_uid`,
  `w`.`metaxy_provenance__detections`,
  `w`.`metaxy_data_version__detections`,
  MD5(`w`.`metaxy_provenance__detections`) AS `metaxy_provenance`,
  CAST(NULL AS STRING) AS `metaxy_data_version`,
  '7ce3d918956279f98b842a743c189484a624e2f770bd5d5c3e6a3fa21f5d1660' AS `metaxy_feature_version`,
  '1b826fca46205078540149446b2e77973e258b8b195b8321ed89446f93e1f6c3' AS `metaxy_project_version`,
  CAST('2024-01-02 03:04:05.678901' AS TIMESTAMP_NTZ) AS `metaxy_written_at`,
  CAST(7 AS BIGINT) AS `metaxy_write_id`
FROM (
  SELECT
    `w`.`sample_uid`,
    `w`.`metaxy_provenance__detections`,
    CAST(NULL AS STRING) AS `metaxy_data_version__detections`
  FROM (
    SELECT
      `b`.`sample_uid`,
      `e`.`metaxy_provenance__detections` AS `metaxy_provenance__detections`
    FROM `metaxy_batch` AS `b`
    LEFT JOIN (
      SELECT
        `u0`.`sample_uid` AS `sample_uid`,
        MD5(
          '["example/face_detection.detections","1"]|example/crop.frames=' || COALESCE(`u0`.`metaxy_data_version__frames`, `u0`.`metaxy_provenance__frames`, '')
        ) AS `metaxy_provenance__detections`
      FROM `example__crop` AS `u0`
    ) AS `e`
      ON `b`.`sample_uid` = `e`.`sample_uid`
  ) AS `w`
) AS `w`
