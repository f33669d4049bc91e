import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** One validation problem in a problem details body. */
export class ProblemFieldErrorDto {
  @ApiProperty({ description: 'Where: an RFC 6901 JSON pointer into the request body (or the config key path)', example: '/mode' })
  pointer!: string;

  @ApiProperty({ description: 'What is wrong (never echoes a secret)', example: 'mode must be one of the following values: live, force, readBack' })
  detail!: string;
}

/** RFC 9457 problem details: the one error shape of the admin API (`application/problem+json`). */
export class ProblemDto {
  @ApiProperty({ description: 'Problem type URI; `about:blank` for plain HTTP statuses', example: 'urn:switchboard:problem:validation' })
  type!: string;

  @ApiProperty({ example: 'Invalid request' })
  title!: string;

  @ApiProperty({ example: 400 })
  status!: number;

  @ApiPropertyOptional({ example: '1 validation problem(s)' })
  detail?: string;

  @ApiPropertyOptional({ description: 'The request path', example: '/admin/targets/app-one/resync' })
  instance?: string;

  @ApiPropertyOptional({ type: [ProblemFieldErrorDto], description: 'Every validation problem (validation and invalid-target types)' })
  errors?: ProblemFieldErrorDto[];
}
