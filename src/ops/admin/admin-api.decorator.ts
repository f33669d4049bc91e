import { applyDecorators, UseFilters, UseGuards, UsePipes, ValidationPipe } from '@nestjs/common';
import { ApiBearerAuth, ApiExtraModels, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { AdminAuthGuard } from '../../auth/admin-auth.guard.js';
import { ProblemDto } from './dto/problem.dto.js';
import { AdminProblemFilter } from './problem.filter.js';
import { PROBLEM_MEDIA_TYPE } from './problem.js';

/** Name of the bearer security scheme in the OpenAPI document. */
export const ADMIN_SECURITY_SCHEME = 'adminToken';

/** Validation of admin request DTOs: unknown properties are refused, every problem reported (problem `errors[]`). */
export const adminValidationPipe = new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: false });

/** A documented problem-details response. */
export function ProblemResponse(status: number, description: string): MethodDecorator & ClassDecorator {
  return ApiResponse({ status, description, content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: getSchemaPath(ProblemDto) } } } });
}

/**
 * What every admin controller carries: bearer auth with admin scopes, problem-details errors (RFC 9457),
 * class-validator DTO validation, and the matching OpenAPI annotations.
 */
export function AdminController(): ClassDecorator {
  return applyDecorators(
    UseGuards(AdminAuthGuard),
    UseFilters(AdminProblemFilter),
    UsePipes(adminValidationPipe),
    ApiBearerAuth(ADMIN_SECURITY_SCHEME),
    ApiExtraModels(ProblemDto),
    ProblemResponse(401, 'Missing or invalid bearer token'),
    ProblemResponse(403, 'The token lacks the admin scope this operation needs (admin:read for GET, admin:write otherwise)'),
    ProblemResponse(500, 'Unexpected error (the detail carries a correlation id)'),
  );
}
